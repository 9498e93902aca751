import '../shared/styles.css';
