import { describe } from "node:test";
import { dropUnclosedTail } from "../../../sidecar/completion/postprocess/dropUnclosedTail";
import { golden } from "./golden";

describe("dropUnclosedTail (a completion cut off by the token limit)", () => {
  golden(
    (completion) => dropUnclosedTail(completion),
    [
      {
        why: "cuts back to the last complete balanced line",
        document: "║",
        completion: "x = 1\ny = f(a,\n  b",
        shown: "x = 1",
      },
      { why: "cuts an unfinished last line", document: "║", completion: "x = 1\ny = 2\nz = fo", shown: "x = 1\ny = 2" },
      {
        why: "leaves a completion with no balanced line end alone",
        document: "║",
        completion: "f(a,\n  b",
        shown: "f(a,\n  b",
      },
      { why: "leaves a single line alone", document: "║", completion: "single", shown: "single" },
    ],
  );
});
