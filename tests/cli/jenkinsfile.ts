/**
 * Reads the block structure of a declarative Jenkinsfile: `name(args) { … }` blocks, nested, with strings
 * ('…', "…", '''…''', """…""") and comments skipped, so braces inside shell steps do not count. Throws on
 * unbalanced braces or an unterminated string: a Jenkinsfile Jenkins could not parse.
 */
export interface Block {
  readonly name: string;
  /** What stood in parentheses after the name (e.g. `'Deploy dev'` for a stage), trimmed. */
  readonly args: string;
  readonly children: Block[];
  /** The block's source between its braces. */
  text: string;
}

export function jenkinsBlocks(source: string): Block[] {
  const root: Block = { name: "", args: "", children: [], text: source };
  const stack: { block: Block; start: number }[] = [{ block: root, start: 0 }];
  let word = "";
  let args = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (source.startsWith("//", i)) {
      i = source.indexOf("\n", i) === -1 ? source.length : source.indexOf("\n", i);
      continue;
    }
    if (source.startsWith("/*", i)) {
      const end = source.indexOf("*/", i + 2);
      if (end === -1) throw new Error("unterminated comment");
      i = end + 2;
      continue;
    }
    const quote = source.startsWith("'''", i) ? "'''" : source.startsWith('"""', i) ? '"""' : c === "'" || c === '"' ? c : undefined;
    if (quote) {
      const end = findClose(source, i + quote.length, quote);
      if (end === -1) throw new Error(`unterminated string at ${i}`);
      i = end + quote.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))!;
      word = m[0];
      args = "";
      i += word.length;
      continue;
    }
    if (c === "(") {
      const end = matchingParen(source, i);
      args = source.slice(i + 1, end).trim();
      i = end + 1;
      continue;
    }
    if (c === "{") {
      const block: Block = { name: word, args, children: [], text: "" };
      stack.at(-1)!.block.children.push(block);
      stack.push({ block, start: i + 1 });
      word = "";
      args = "";
    } else if (c === "}") {
      if (stack.length === 1) throw new Error(`unbalanced } at ${i}`);
      const { block, start } = stack.pop()!;
      block.text = source.slice(start, i);
    } else if (!/\s/.test(c)) {
      word = "";
    }
    i++;
  }
  if (stack.length !== 1) throw new Error(`unclosed block ${stack.at(-1)!.block.name}`);
  return root.children;
}

function findClose(s: string, from: number, quote: string): number {
  for (let j = from; j < s.length; j++) {
    if (s[j] === "\\") {
      j++;
      continue;
    }
    if (s.startsWith(quote, j)) return j;
    if (quote.length === 1 && s[j] === "\n") return -1;
  }
  return -1;
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    const q = s.startsWith("'''", j) ? "'''" : s[j] === "'" || s[j] === '"' ? s[j]! : undefined;
    if (q) {
      const end = findClose(s, j + q.length, q);
      if (end === -1) throw new Error(`unterminated string at ${j}`);
      j = end + q.length - 1;
      continue;
    }
    if (s[j] === "(") depth++;
    if (s[j] === ")" && --depth === 0) return j;
  }
  throw new Error(`unbalanced ( at ${open}`);
}
