import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * A real sd_notify receiver: an AF_UNIX datagram socket bound where NOTIFY_SOCKET points, read
 * the way systemd reads it (SO_PASSCRED for the sender's pid, SCM_RIGHTS for barrier fds, which
 * it closes after the message is processed — that close is what `systemd-notify` waits for).
 * Node cannot open such a socket itself, hence the small Python program.
 */
const RECEIVER = String.raw`
import socket, sys, os, json, struct, array
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({"ready": True}), flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(16 * 4))
    pid = None
    fds = []
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
        elif level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            a = array.array("i"); a.frombytes(data[: len(data) - (len(data) % 4)]); fds.extend(a)
    print(json.dumps({"pid": pid, "fds": len(fds), "text": msg.decode("utf-8", "replace")}), flush=True)
    for fd in fds:
        os.close(fd)
`;

export interface NotifyDatagram {
  readonly pid: number | null;
  /** File descriptors passed along (a barrier request carries one). */
  readonly fds: number;
  readonly text: string;
  /** KEY=value pairs of the datagram. */
  readonly fields: Readonly<Record<string, string>>;
}

export class NotifySocket {
  readonly received: NotifyDatagram[] = [];
  #waiters: Array<{ pred: (d: NotifyDatagram) => boolean; resolve: (d: NotifyDatagram) => void }> = [];

  private constructor(
    readonly path: string,
    private readonly proc: ChildProcess,
  ) {}

  static async open(path: string): Promise<NotifySocket> {
    const proc = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sock = new NotifySocket(path, proc);
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: proc.stdout! });
    const ready = new Promise<void>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`notify receiver exited ${code}: ${stderr}`)));
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as { ready?: boolean; pid: number | null; fds: number; text: string };
        if (msg.ready) return resolve();
        const fields: Record<string, string> = {};
        for (const l of msg.text.split('\n')) {
          const i = l.indexOf('=');
          if (i > 0) fields[l.slice(0, i)] = l.slice(i + 1);
        }
        const d: NotifyDatagram = { pid: msg.pid, fds: msg.fds, text: msg.text, fields };
        sock.received.push(d);
        sock.#waiters = sock.#waiters.filter((w) => (w.pred(d) ? (w.resolve(d), false) : true));
      });
    });
    await ready;
    return sock;
  }

  /** The datagrams that are not barrier requests (systemd-notify sends BARRIER=1 after each message). */
  messages(): NotifyDatagram[] {
    return this.received.filter((d) => d.fields['BARRIER'] === undefined);
  }

  /** Resolves with the first datagram (already received or future) that matches. */
  waitFor(pred: (d: NotifyDatagram) => boolean, timeoutMs = 10_000): Promise<NotifyDatagram> {
    const have = this.received.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching notification within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
      });
    });
  }

  /** Resolves once `n` datagrams received after index `from` match. */
  async waitForCount(pred: (d: NotifyDatagram) => boolean, n: number, from = 0, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const have = this.received.slice(from).filter(pred).length;
      if (have >= n) return;
      const seen = this.received.length;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${have} of ${n} matching notifications within ${timeoutMs} ms`);
      await this.waitFor((d) => this.received.indexOf(d) >= seen, left).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    await once(this.proc, 'exit');
  }
}
