import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * A TCP port on 127.0.0.1 whose SYNs the kernel drops without answer, as a firewall or a dead
 * route does to a routed camera. A listening socket completes handshakes in the kernel, so a
 * plain listener cannot do this; one whose accept queue is full can: the listener (python3, which
 * can listen without accepting, unlike Node) has a backlog of 0 and never accepts, and one
 * connection of ours fills its queue. Linux then drops every further SYN (ListenOverflows), and a
 * client sees nothing at all, exactly like a SYN lost on the way. `answer()` makes the listener
 * accept from then on, as a camera that comes back.
 */
export class SilentListener {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly filler: Socket,
  ) {}

  static async start(): Promise<SilentListener> {
    const script = [
      'import socket, sys, threading',
      's = socket.socket()',
      "s.bind(('127.0.0.1', 0))",
      's.listen(0)',
      'print(s.getsockname()[1], flush=True)',
      'held = []',
      'def serve():',
      '    while True:',
      '        held.append(s.accept()[0])',
      'sys.stdin.readline()',
      'threading.Thread(target=serve, daemon=True).start()',
      'sys.stdin.readline()',
    ].join('\n');
    const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`silent listener exited with ${code} before listening`)));
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
    });
    const filler = connect(port, '127.0.0.1');
    filler.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => filler.once('connect', resolve).once('error', reject));
    return new SilentListener(port, child, filler);
  }

  /** From now on connections are accepted (the queue drains and SYNs are answered again). */
  answer(): void {
    this.child.stdin!.write('accept\n');
  }

  async stop(): Promise<void> {
    this.filler.destroy();
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill();
    await exited;
  }
}
