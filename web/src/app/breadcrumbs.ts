import type { BreadcrumbGroupProps } from '@cloudscape-design/components/breadcrumb-group';
import { href } from './router.js';

const SECTIONS: Record<string, string> = {
  data: 'Buckets',
  'training-jobs': 'Training jobs',
  'notebook-instances': 'Notebook instances',
  'access-keys': 'Access keys',
  'tuning-jobs': 'Hyperparameter tuning jobs',
  'labeling-jobs': 'Labeling jobs',
  models: 'Models',
  'endpoint-configs': 'Endpoint configurations',
  endpoints: 'Endpoints',
  portal: 'Labeling portal',
};

/** Breadcrumbs from the URL alone, so every deep link has them. */
export function breadcrumbsFor(path: string, query: URLSearchParams): BreadcrumbGroupProps.Item[] {
  const items: BreadcrumbGroupProps.Item[] = [{ text: 'Apiary', href: href('/') }];
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [section, name, sub] = parts;
  if (!section) return items;
  items.push({ text: SECTIONS[section] ?? section, href: href(`/${section}`) });
  if (!name) return items;
  if (section === 'data') {
    const bucketHref = `/data/${encodeURIComponent(name)}`;
    items.push({ text: name, href: href(bucketHref) });
    const full = sub === 'preview' ? (query.get('key') ?? '') : (query.get('prefix') ?? '');
    const segs = full.split('/').filter(Boolean);
    segs.forEach((seg, i) => {
      const last = i === segs.length - 1 && sub === 'preview';
      const prefix = segs.slice(0, i + 1).join('/') + '/';
      items.push({
        text: seg,
        href: href(
          last
            ? `${bucketHref}/preview?key=${encodeURIComponent(full)}`
            : `${bucketHref}?prefix=${encodeURIComponent(prefix)}`,
        ),
      });
    });
    return items;
  }
  items.push({
    text: name === 'create' ? 'Create' : name,
    href: href(`/${section}/${encodeURIComponent(name)}`),
  });
  return items;
}
