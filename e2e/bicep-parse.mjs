// Syntax check for Bicep files with tree-sitter-bicep (the real Bicep compiler cannot run offline).
//
// Usage: node e2e/bicep-parse.mjs <file.bicep>...
// Prints one JSON object: {"files":[{"file","errors":[{"line","column","kind","text"}]}]}.
// Exit code 0 when every file parsed without ERROR or MISSING nodes, 1 otherwise, 2 on usage errors.
//
// tree-sitter-bicep 1.1.0 predates the `extension <name>` statement (the successor of `import`/`provider`
// for Bicep extensions such as microsoftGraphV1), so such lines are rewritten to `import '<name>'`
// before parsing. The rewrite keeps line and column numbers of everything else unchanged.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Language, Parser } from 'web-tree-sitter';

const require = createRequire(import.meta.url);

export function rewriteExtensionStatements(source) {
  return source.replace(/^([ \t]*)extension[ \t]+([A-Za-z_][A-Za-z0-9_]*)/gm, "$1import '$2'");
}

function collectErrors(node, out) {
  if (node.isError || node.isMissing) {
    out.push({
      line: node.startPosition.row + 1,
      column: node.startPosition.column + 1,
      kind: node.isMissing ? `MISSING ${node.type}` : 'ERROR',
      text: node.text.slice(0, 80),
    });
    if (node.isMissing) return;
  }
  if (!node.hasError && !node.isError) return;
  for (const child of node.children) collectErrors(child, out);
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node bicep-parse.mjs <file.bicep>...');
    process.exit(2);
  }
  await Parser.init();
  const wasm = path.join(path.dirname(require.resolve('tree-sitter-bicep/package.json')), 'tree-sitter-bicep.wasm');
  const bicep = await Language.load(wasm);
  const parser = new Parser();
  parser.setLanguage(bicep);
  const results = [];
  let failed = false;
  for (const file of files) {
    const source = rewriteExtensionStatements(await readFile(file, 'utf8'));
    const tree = parser.parse(source);
    const errors = [];
    collectErrors(tree.rootNode, errors);
    if (tree.rootNode.hasError && errors.length === 0) {
      errors.push({ line: 1, column: 1, kind: 'ERROR', text: 'tree has errors at an unlocated node' });
    }
    if (errors.length > 0) failed = true;
    results.push({ file, errors });
    tree.delete();
  }
  process.stdout.write(JSON.stringify({ files: results }) + '\n');
  process.exit(failed ? 1 : 0);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err?.stack ?? String(err));
  process.exit(2);
});
