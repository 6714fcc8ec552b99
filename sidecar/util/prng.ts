// Deterministic pseudo-random numbers for model weights: sfc32 seeded from a string via FNV-1a + splitmix32.
// Pure integer/float32-free arithmetic, so the same seed gives the same stream on every platform.

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` may be a number or any string (e.g. "<model seed>/<tensor name>"). */
  constructor(seed: number | string) {
    const state = { s: typeof seed === "number" ? seed | 0 : hashString(seed) | 0 };
    this.a = splitmix32(state);
    this.b = splitmix32(state);
    this.c = splitmix32(state);
    this.d = splitmix32(state);
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** Uniform 32-bit unsigned integer (sfc32). */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer uniform in [0, n). */
  below(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Approximately standard normal (Irwin-Hall of 4 uniforms, unit variance), no transcendental functions. */
  normal(): number {
    const s = this.uniform() + this.uniform() + this.uniform() + this.uniform();
    return (s - 2) * Math.sqrt(3);
  }

  /** Fills `out` with uniform 32-bit words. */
  fillU32(out: Uint32Array): void {
    let { a, b, c, d } = this;
    for (let i = 0; i < out.length; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      out[i] = t;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }
}
