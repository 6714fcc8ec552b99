/**
 * RepoEval line-completion tasks: one JSON object per line,
 *   {"prompt": ..., "groundtruth": ..., "metadata": {"task_id": ..., "fpath_tuple": [...], "line_no": 17, ...}}
 * RepoEval's own files keep the ground truth in metadata.ground_truth and the path as metadata.fpath_tuple
 * (path segments); a "/"-separated metadata.fpath is accepted too. The first path segment names the task's
 * repository, the rest is the file's path inside it. line_no is the 0-based index of the target line: the
 * cursor is at the start of that line.
 */

export interface LineTask {
  taskId: string;
  /** The repository's directory name (first path segment). */
  repo: string;
  /** The file inside the repository, "/"-separated. */
  path: string;
  /** 0-based index of the target line. */
  lineNo: number;
  prompt: string;
  groundTruth: string;
  metadata: Record<string, unknown>;
}

/** Parses a task file; a malformed line fails with `source:line: why`. Blank lines are skipped. */
export function parseTasks(text: string, source = "tasks.jsonl"): LineTask[] {
  const tasks: LineTask[] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    try {
      tasks.push(parseTask(JSON.parse(line) as unknown));
    } catch (error) {
      throw new Error(`${source}:${i + 1}: ${(error as Error).message}`, { cause: error });
    }
  }
  return tasks;
}

function parseTask(value: unknown): LineTask {
  if (!isRecord(value)) throw new Error("not a JSON object");
  const metadata = value.metadata;
  if (!isRecord(metadata)) throw new Error("metadata is missing or not an object");
  const prompt = value.prompt;
  if (typeof prompt !== "string") throw new Error("prompt is missing or not a string");
  const groundTruth = value.groundtruth ?? metadata.ground_truth;
  if (typeof groundTruth !== "string")
    throw new Error("groundtruth (or metadata.ground_truth) is missing or not a string");
  const taskId = metadata.task_id;
  if (typeof taskId !== "string" && typeof taskId !== "number") throw new Error("metadata.task_id is missing");
  const lineNo = metadata.line_no;
  if (typeof lineNo !== "number" || !Number.isInteger(lineNo) || lineNo < 0) {
    throw new Error("metadata.line_no is missing or not a non-negative integer");
  }
  const segments = pathSegments(metadata);
  if (segments.length < 2) throw new Error("the file path needs a repository segment and a file");
  return {
    taskId: String(taskId),
    repo: segments[0]!,
    path: segments.slice(1).join("/"),
    lineNo,
    prompt,
    groundTruth,
    metadata,
  };
}

function pathSegments(metadata: Record<string, unknown>): string[] {
  const tuple = metadata.fpath_tuple;
  const segments =
    Array.isArray(tuple) && tuple.every((s) => typeof s === "string")
      ? (tuple as string[])
      : typeof metadata.fpath === "string"
        ? metadata.fpath.split("/")
        : undefined;
  if (!segments) throw new Error("metadata.fpath_tuple (string array) or metadata.fpath (string) is missing");
  return segments.filter((s) => s !== "" && s !== ".");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Tasks by repository, repositories and tasks in file order. */
export function groupByRepo(tasks: readonly LineTask[]): Map<string, LineTask[]> {
  const groups = new Map<string, LineTask[]>();
  for (const task of tasks) {
    const group = groups.get(task.repo);
    if (group) group.push(task);
    else groups.set(task.repo, [task]);
  }
  return groups;
}

/**
 * The target file as the index may see it for a task: everything before the start of line `lineNo` (0-based),
 * so that neither the target line nor anything after it leaks into retrieval. Line ends are kept as they are.
 */
export function futureExcluded(fileText: string, lineNo: number): string {
  let at = 0;
  for (let line = 0; line < lineNo; line++) {
    const newline = fileText.indexOf("\n", at);
    if (newline === -1) throw new RangeError(`line ${lineNo} is past the end of the file (${line + 1} lines)`);
    at = newline + 1;
  }
  return fileText.slice(0, at);
}
