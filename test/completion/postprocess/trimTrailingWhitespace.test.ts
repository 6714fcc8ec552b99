import { describe } from "node:test";
import { trimTrailingWhitespace } from "../../../sidecar/completion/postprocess/trimTrailingWhitespace";
import { golden } from "./golden";

describe("trimTrailingWhitespace", () => {
  golden(
    (completion, { suffix }) => trimTrailingWhitespace(completion, suffix),
    [
      {
        why: "trims line ends, and the end when the cursor's line ends there",
        document: "║\nrest",
        completion: "a  \nb \n\n",
        shown: "a\nb",
      },
      {
        why: "keeps a space before text that follows on the line",
        document: "x = 1 ║+ 2\n",
        completion: "x ",
        shown: "x ",
      },
      { why: "blank is nothing", document: "║", completion: " \n\t", shown: "" },
    ],
  );
});
