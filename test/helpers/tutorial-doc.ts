import fs from 'node:fs';

/**
 * Turns a Markdown document into one Python script that runs its ```python blocks verbatim and
 * its ```sh blocks through bash, in document order — so a document "runs as written".
 * Other fences (console, ts, python-sdk …) are prose, not run.
 */
export function documentToScript(markdownFile: string): string {
  const text = fs.readFileSync(markdownFile, 'utf8');
  const parts: string[] = ['import subprocess as __sp'];
  for (const m of text.matchAll(/^```(python|sh)\n([\s\S]*?)^```$/gm)) {
    const [, lang, body] = m;
    if (lang === 'python') parts.push(body!);
    else
      parts.push(
        `__sp.run(["bash", "-euo", "pipefail", "-c", ${JSON.stringify(body)}], check=True)`,
      );
  }
  return parts.join('\n');
}
