// A look at a model file before it becomes a setting: a text file renamed .gguf used to be saved,
// and the sidecar then failed to load at its next start with the reason only in a tooltip. No
// editor API here, so it is tested in Node; the sidecar still validates every file it loads.
import { stat } from "node:fs/promises";
import { ggufHeaderProblem } from "../common/ggufHeader";

/** Why the file at `path` cannot be a GGUF model, in one sentence; undefined when its header is one. */
export async function modelFileProblem(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return `${path} is not a regular file.`;
    const problem = ggufHeaderProblem(path, info.size);
    return problem && `${path}: ${problem}.`;
  } catch (error) {
    return `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`;
  }
}
