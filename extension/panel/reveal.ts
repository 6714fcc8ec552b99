// Showing a retrieved span in its file. The span is revealed and highlighted, never selected: the
// click leaves the keyboard in the editor, and with the span selected the next keystroke replaced
// it (issue 18: one "x" replaced a 418-line file, and auto-save wrote it to disk).
import * as vscode from "vscode";

/** Long enough to find the span on screen; the highlight goes sooner when the user moves or types. */
export const HIGHLIGHT_MS = 4000;

export class SpanRevealer implements vscode.Disposable {
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor("editor.rangeHighlightBackground"),
  });
  private clearHighlight: (() => void) | undefined;

  /** Opens the file with the cursor at the span's first line and highlights lines startLine..endLine (1-based). */
  async reveal(uri: vscode.Uri, startLine: number, endLine: number): Promise<void> {
    const cursor = new vscode.Range(startLine - 1, 0, startLine - 1, 0);
    const editor = await vscode.window.showTextDocument(uri, { selection: cursor, preview: true });
    const lines = new vscode.Range(startLine - 1, 0, Math.max(startLine, endLine) - 1, 0);
    editor.revealRange(lines, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    this.highlight(editor, lines);
  }

  private highlight(editor: vscode.TextEditor, lines: vscode.Range): void {
    this.clearHighlight?.();
    editor.setDecorations(this.decoration, [lines]);
    const timer = setTimeout(() => clear(), HIGHLIGHT_MS);
    const watches = [
      // Only the user's own moves: opening the file sets the cursor too (kind Command or none).
      vscode.window.onDidChangeTextEditorSelection((event) => {
        const byUser =
          event.kind === vscode.TextEditorSelectionChangeKind.Keyboard ||
          event.kind === vscode.TextEditorSelectionChangeKind.Mouse;
        if (event.textEditor === editor && byUser) clear();
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document === editor.document && event.contentChanges.length > 0) clear();
      }),
    ];
    const clear = () => {
      clearTimeout(timer);
      for (const watch of watches) watch.dispose();
      editor.setDecorations(this.decoration, []);
      if (this.clearHighlight === clear) this.clearHighlight = undefined;
    };
    this.clearHighlight = clear;
  }

  dispose(): void {
    this.clearHighlight?.();
    this.decoration.dispose();
  }
}
