/** How the generated pipeline files are written: a header saying where they come from, then stable YAML. */
import YAML from "yaml";

/** The comment every generated file starts with (`#`-comments; the Jenkinsfile uses `//`). */
export function header(provider: string, needs: string, comment = "#"): string {
  return [
    `Written by \`mlops ci init --provider ${provider}\` (pulumi-mlops). Edit it as your own; \`--force\` rewrites it.`,
    `Needs: ${needs}.`,
  ].map((line) => `${comment} ${line}\n`).join("");
}

/** YAML with no line folding (shell lines stay whole) and multi-line strings as literal blocks. */
export function yaml(doc: unknown): string {
  return YAML.stringify(doc, { lineWidth: 0, blockQuote: "literal", aliasDuplicateObjects: false });
}
