import '../shared/styles.css';
import { byId, showOnly } from '../shared/dom.js';

const views = ['start', 'waiting', 'password', 'tap', 'signed-in'].map((id) => byId(id));

// Links between the ways to sign in ("Use your password instead", "Back", …).
for (const button of document.querySelectorAll<HTMLButtonElement>('[data-go]')) {
  button.addEventListener('click', () => showOnly(views, byId(button.dataset.go!)));
}
