import { describe, expect, test } from 'vitest';
import { GpioTree } from '../helpers/gpio-tree.js';

/**
 * The GPIO tree answers file operations the way the kernel's gpiolib-sysfs does. These run real
 * syscalls (Node's fs in a child process whose /sys/class/gpio is the tree) and check the errno
 * each one gets, so the driver tests that build on the tree meet the kernel's behaviour.
 */

const probe = String.raw`
const fs = require('fs');
const out = {};
const G = '/sys/class/gpio/';
const tryOp = (name, fn) => { try { const r = fn(); out[name] = r === undefined ? 'ok' : r; } catch (e) { out[name] = e.code; } };
tryOp('chips', () => fs.readdirSync(G).filter((n) => n.startsWith('gpiochip')).map((n) => [n, fs.readFileSync(G + n + '/label', 'utf8').trim(), fs.readFileSync(G + n + '/base', 'utf8').trim()]));
tryOp('export', () => fs.writeFileSync(G + 'export', '529'));
tryOp('files', () => fs.readdirSync(G + 'gpio529').sort());
tryOp('direction', () => fs.readFileSync(G + 'gpio529/direction', 'utf8'));
tryOp('exportAgain', () => fs.writeFileSync(G + 'export', '529'));
tryOp('exportClaimed', () => fs.writeFileSync(G + 'export', '516'));
tryOp('exportText', () => fs.writeFileSync(G + 'export', 'seventeen'));
tryOp('exportNoChip', () => fs.writeFileSync(G + 'export', '17'));
tryOp('exportHex', () => fs.writeFileSync(G + 'export', '0x212'));
tryOp('valueOfInput', () => fs.writeFileSync(G + 'gpio529/value', '1'));
tryOp('badDirection', () => fs.writeFileSync(G + 'gpio529/direction', 'sideways'));
tryOp('edgeOnInput', () => fs.writeFileSync(G + 'gpio529/edge', 'both'));
tryOp('badEdge', () => fs.writeFileSync(G + 'gpio529/edge', 'up'));
tryOp('directionHigh', () => fs.writeFileSync(G + 'gpio530/direction', 'high'));
tryOp('outAfterHigh', () => fs.readFileSync(G + 'gpio530/value', 'utf8'));
tryOp('activeLow', () => { fs.writeFileSync(G + 'gpio530/active_low', '1'); return fs.readFileSync(G + 'gpio530/value', 'utf8'); });
tryOp('edgeOnOutput', () => fs.writeFileSync(G + 'gpio530/edge', 'rising'));
tryOp('badValue', () => fs.writeFileSync(G + 'gpio530/value', 'on'));
tryOp('writeBase', () => fs.writeFileSync(G + 'gpiochip512/base', '0'));
tryOp('readExport', () => fs.readFileSync(G + 'export'));
tryOp('exportNoIrq', () => { fs.writeFileSync(G + 'export', '570'); return fs.readdirSync(G + 'gpio570').sort(); });
tryOp('staleFd', () => { const fd = fs.openSync(G + 'gpio529/value', 'r'); fs.writeFileSync(G + 'unexport', '529'); try { fs.readSync(fd, Buffer.alloc(4), 0, 4, 0); return 'read'; } finally { fs.closeSync(fd); } });
tryOp('unexportAgain', () => fs.writeFileSync(G + 'unexport', '529'));
tryOp('gone', () => fs.existsSync(G + 'gpio529'));
tryOp('createFile', () => fs.writeFileSync(G + 'newfile', 'x'));
console.log(JSON.stringify(out));
`;

async function runProbe(tree: GpioTree): Promise<Record<string, unknown>> {
  const child = tree.spawn(process.execPath, ['-e', probe]);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  if (code !== 0) throw new Error(`probe exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('GPIO tree behaves like the kernel sysfs interface', () => {
  test('export, attributes and the errno of every refused operation match gpiolib-sysfs', async () => {
    const tree = new GpioTree({
      chips: [
        { base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
        { base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio', noIrq: [0] },
      ],
      claimed: [516],
    });
    tree.setInput(530, true);
    const r = await runProbe(tree);
    expect(r).toEqual({
      chips: [
        ['gpiochip512', 'pinctrl-bcm2711', '512'],
        ['gpiochip570', 'raspberrypi-exp-gpio', '570'],
      ],
      export: 'ok',
      files: ['active_low', 'direction', 'edge', 'value'],
      direction: 'in\n',
      exportAgain: 'EBUSY',
      exportClaimed: 'EBUSY',
      exportText: 'EINVAL',
      exportNoChip: 'EINVAL',
      exportHex: 'ok', // 0x212 is 530: kstrtol takes base prefixes
      valueOfInput: 'EPERM',
      badDirection: 'EINVAL',
      edgeOnInput: 'ok',
      badEdge: 'EINVAL',
      directionHigh: 'ok',
      outAfterHigh: '1\n',
      activeLow: '0\n',
      edgeOnOutput: 'EIO',
      badValue: 'EINVAL',
      writeBase: 'EACCES',
      readExport: 'EACCES',
      exportNoIrq: ['active_low', 'direction', 'value'],
      staleFd: 'ENODEV',
      unexportAgain: 'EINVAL',
      gone: false,
      createFile: 'EACCES',
    });
    // 'high' drove the line high with the direction, in one step.
    expect(tree.writes).toEqual([expect.objectContaining({ gpio: 530, high: true, via: 'direction' })]);
    expect(tree.line(530)).toMatchObject({ exported: true, direction: 'out', activeLow: true, high: true });
    expect(tree.line(529).exported).toBe(false);
  });
});
