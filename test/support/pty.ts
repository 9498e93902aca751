import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A command in a real pseudo-terminal, through Python's standard `pty` module (no native addon):
 * the child sees a TTY on stdin and stdout, as when a person runs it. The test reads what the
 * terminal shows and types lines into it.
 */
const PTY = 'import os, pty, sys\nsys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))';
/** Readline's cursor and erase sequences, and carriage returns: what a screen would not show as text. */
const CONTROL = /\x1b\[[0-9;?]*[A-Za-z]|\r/g;

export class Pty {
  private screen = '';
  /** What waitFor has matched up to: each wait looks only at what came after. */
  private read = 0;
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn('python3', ['-c', PTY, command, ...args], { cwd: options.cwd, env: { TERM: 'xterm', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) stream.on('data', (chunk: Buffer) => (this.screen += chunk.toString('utf8').replace(CONTROL, '')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Everything the terminal showed so far. */
  get text() {
    return this.screen;
  }

  /** Waits until `expected` appears after what was matched before; returns the text up to it. */
  async waitFor(expected: string | RegExp, timeoutMs = 90_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.screen.slice(this.read);
      const found = find(rest, expected);
      if (found) {
        this.read += found.end;
        return rest.slice(0, found.end);
      }
      if (Date.now() > until) throw new Error(`The terminal did not show ${String(expected)} within ${timeoutMs / 1000} s. It shows:\n${this.screen.slice(-2000)}`);
      if (this.child.exitCode !== null) throw new Error(`The program exited (${this.child.exitCode}) before showing ${String(expected)}. It showed:\n${this.screen.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Types a line and presses Enter. */
  type(line: string) {
    this.child.stdin!.write(`${line}\r`);
  }

  /** Presses Ctrl+C. */
  interrupt() {
    this.child.stdin!.write('\x03');
  }

  kill() {
    this.child.kill('SIGKILL');
  }
}

function find(text: string, expected: string | RegExp): { end: number } | undefined {
  if (typeof expected === 'string') {
    const at = text.indexOf(expected);
    return at < 0 ? undefined : { end: at + expected.length };
  }
  const match = text.match(expected);
  return match?.index === undefined ? undefined : { end: match.index + match[0].length };
}
