import { describe } from "node:test";
import { dropLoopingLine } from "../../../sidecar/completion/postprocess/dropLoopingLine";
import { golden } from "./golden";

describe("dropLoopingLine (a completion the token limit cut off in a loop)", () => {
  golden(
    (completion) => dropLoopingLine(completion),
    [
      {
        why: "a first line that loops to the limit shows nothing",
        document: "        return round_money(║",
        completion: "sum((l.unit_price * line.sku, line.sku, line.sku, line.sku, line.sku, line.sku,",
        shown: "",
      },
      {
        why: "lines before the loop stay; the looping line and what follows go",
        document: "║",
        completion: "total = 0\nfor x in xs:\n    f(tx: str, tx: str, tx: str, tx: str, tx: str\n    y",
        shown: "total = 0\nfor x in xs:",
      },
      {
        why: "a unit written three times is code, not a loop",
        document: "║",
        completion: "grid = [0, 0, 0]",
        shown: "grid = [0, 0, 0]",
      },
      {
        why: "a divider has no word in it and stays",
        document: "║",
        completion: "# ==========================================",
        shown: "# ==========================================",
      },
      {
        why: "a line that repeats but ends otherwise is left alone",
        document: "║",
        completion: "assert f(a, a, a, a, a) == 5",
        shown: "assert f(a, a, a, a, a) == 5",
      },
    ],
  );
});
