import { createInterface, type Interface } from 'node:readline/promises';
import { Writable } from 'node:stream';

/**
 * Line prompts on the terminal, one at a time, with hidden entry for PINs. Readline echoes what is
 * typed through its output stream; muting that stream (not the terminal) hides a PIN.
 */
export class Terminal {
  private readonly echo = new (class extends Writable {
    muted = false;
    override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
      if (!this.muted) process.stdout.write(chunk);
      done();
    }
  })();
  private readonly readline: Interface;
  /** Resolves when the user ends input (Ctrl+D) or interrupts (Ctrl+C). */
  readonly closed: Promise<void>;
  isClosed = false;

  constructor() {
    this.readline = createInterface({ input: process.stdin, output: this.echo, terminal: Boolean(process.stdin.isTTY) });
    this.closed = new Promise((resolve) => {
      this.readline.once('close', () => {
        this.isClosed = true;
        resolve();
      });
      this.readline.once('SIGINT', () => this.readline.close());
    });
  }

  say(line = '') {
    process.stdout.write(`${line}\n`);
  }

  /** Asks and returns the answer without surrounding blanks; rejects once the terminal closed. */
  async ask(question: string): Promise<string> {
    return (await this.readline.question(question)).trim();
  }

  /** Asks without echoing what is typed. */
  async askHidden(question: string): Promise<string> {
    process.stdout.write(question);
    this.echo.muted = true;
    try {
      return await this.readline.question('');
    } finally {
      this.echo.muted = false;
      process.stdout.write('\n');
    }
  }

  close() {
    this.readline.close();
  }
}
