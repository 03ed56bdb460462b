/** Tiny XML writer for S3's responses: escapes text, keeps element order, no dependencies. */

// XML 1.0 cannot carry most control characters even escaped; S3 writes them as character
// references, which its own SDKs accept.
// oxlint-disable-next-line no-control-regex -- matching control characters is the point
const ESCAPE_RE = /[&<>"\u0000-\u0008\u000b\u000c\u000e-\u001f\r]/g;

export function escapeXml(text: string): string {
  return text.replace(ESCAPE_RE, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

export type XmlValue =
  string | number | boolean | undefined | null | XmlNode | readonly (XmlNode | string)[];
/** Elements in insertion order; an array value repeats the element once per item. */
export type XmlNode = { readonly [element: string]: XmlValue };

function render(name: string, value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) render(name, item, out);
    return;
  }
  if (typeof value === 'object') {
    out.push(`<${name}>`);
    renderChildren(value as XmlNode, out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}

function renderChildren(node: XmlNode, out: string[]): void {
  for (const [k, v] of Object.entries(node)) render(k, v, out);
}

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** `<?xml …?><Root xmlns="…">children</Root>`. */
export function xmlDocument(root: string, children: XmlNode, namespace = true): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    namespace ? `<${root} xmlns="${NS}">` : `<${root}>`,
  ];
  renderChildren(children, out);
  out.push(`</${root}>`);
  return out.join('');
}

/** S3 timestamps in XML: ISO 8601 with milliseconds. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
