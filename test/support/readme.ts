import * as fs from 'fs';
import * as path from 'path';

/** The repository's README.md. */
export const README_PATH = path.join(__dirname, '..', '..', 'README.md');

/**
 * The fenced code blocks (```lang … ```) of one language in one `## ` section of a Markdown file.
 *
 * @param heading the section's heading text without the `## ` (for example `Usage`); the section runs to the next
 *   `## ` heading (its `###` subsections included)
 * @param language the fence's info string (`ts`, `python`)
 * @throws when the section does not exist
 */
export function sectionCodeBlocks(heading: string, language: string, markdown = fs.readFileSync(README_PATH, 'utf8')): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`no "## ${heading}" section in the Markdown`);
  const blocks: string[] = [];
  let fence: string | undefined; // the open fence, while inside a block
  let body: string[] | undefined; // the block's lines, when its language is the one asked for
  for (const line of lines.slice(start + 1)) {
    if (fence === undefined) {
      if (/^## /.test(line)) break;
      const open = /^(```+)\s*([\w-]*)\s*$/.exec(line);
      if (open) {
        fence = open[1];
        body = open[2] === language ? [] : undefined;
      }
    } else if (line.trim() === fence) {
      if (body) blocks.push(body.join('\n') + '\n');
      fence = undefined;
      body = undefined;
    } else {
      body?.push(line);
    }
  }
  return blocks;
}

/** The one block of `language` in the section, or an error saying how many there are. */
export function sectionCodeBlock(heading: string, language: string, markdown?: string): string {
  const blocks = sectionCodeBlocks(heading, language, markdown);
  if (blocks.length !== 1) {
    throw new Error(`expected exactly one \`\`\`${language} block under "## ${heading}", found ${blocks.length}`);
  }
  return blocks[0];
}
