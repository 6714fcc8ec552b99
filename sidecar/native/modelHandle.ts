// What the generator and encoder wrappers share over their addon objects: the model's tokenizer,
// the queue their requests run in, and refusing work once disposed.
import type { RawTokenizer } from "./addonTypes";
import { SerialQueue } from "./serialQueue";

export abstract class ModelHandle<Raw extends RawTokenizer> {
  protected readonly queue = new SerialQueue();
  protected disposed = false;

  protected constructor(
    protected readonly raw: Raw,
    /** "generator", "encoder": names the handle in errors. */
    private readonly kind: string,
  ) {}

  tokenize(text: string, addSpecial = false, parseSpecial = false): Int32Array {
    this.check();
    return this.raw.tokenize(text, addSpecial, parseSpecial);
  }

  detokenize(
    tokens: Int32Array | readonly number[],
    options: { removeSpecial?: boolean; unparseSpecial?: boolean } = {},
  ): string {
    this.check();
    return this.raw.detokenize(tokens, options.removeSpecial ?? false, options.unparseSpecial ?? false);
  }

  protected check(): void {
    if (this.disposed) throw new Error(`the ${this.kind} has been disposed`);
  }
}
