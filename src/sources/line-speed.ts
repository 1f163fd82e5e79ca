/**
 * What a UART receiver makes of bytes sent at another baud rate. A pseudo-terminal has no line
 * speed, so the simulated camera uses this to behave like a real camera on a real cable when the
 * gateway listens at the wrong rate: the receiver samples the sender's bit stream (start bit, 8
 * data bits LSB first, stop bit, 8N1) at its own rate, and a missing stop bit is a framing error
 * that Linux delivers as a NUL byte. Same rate: the bytes come through unchanged.
 */
export function resampleUart(bytes: Uint8Array, txBaud: number, rxBaud: number): Buffer {
  if (txBaud === rxBaud) return Buffer.from(bytes);
  const bits: number[] = [];
  for (const b of bytes) {
    bits.push(0);
    for (let i = 0; i < 8; i++) bits.push((b >> i) & 1);
    bits.push(1);
  }
  const txBit = 1 / txBaud;
  const rxBit = 1 / rxBaud;
  const level = (t: number): number => {
    const i = Math.floor(t / txBit);
    return i >= 0 && i < bits.length ? bits[i]! : 1;
  };
  const end = bits.length * txBit;
  const out: number[] = [];
  let t = 0;
  let previous = 1;
  // Scan in steps of 1/16 of a receiver bit, as a UART's oversampling does.
  const step = rxBit / 16;
  while (t < end) {
    const now = level(t);
    if (previous === 1 && now === 0 && level(t + 0.5 * rxBit) === 0) {
      // Falling edge still low half a bit later: a start bit. Sample the middle of each data bit.
      let value = 0;
      for (let i = 0; i < 8; i++) value |= level(t + (i + 1.5) * rxBit) << i;
      const stop = level(t + 9.5 * rxBit);
      out.push(stop === 1 ? value : 0);
      t += 9.5 * rxBit;
      previous = stop;
      continue;
    }
    previous = now;
    t += step;
  }
  return Buffer.from(out);
}
