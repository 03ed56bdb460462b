import { describe, expect, it } from 'vitest';
import { S3Error } from './errors.js';
import { parseLifecycleConfiguration } from './lifecycle-ops.js';

const doc = (rules: string) =>
  Buffer.from(`<LifecycleConfiguration>${rules}</LifecycleConfiguration>`);
const code = (rules: string): string | undefined => {
  try {
    parseLifecycleConfiguration(doc(rules));
    return undefined;
  } catch (e) {
    if (!(e instanceof S3Error)) throw e;
    return e.code;
  }
};
const exp = '<Expiration><Days>1</Days></Expiration>';

describe('parseLifecycleConfiguration', () => {
  it('reads each filter form', () => {
    const rules = parseLifecycleConfiguration(
      doc(
        `<Rule><ID>a</ID><Filter/><Status>Enabled</Status>${exp}</Rule>` +
          `<Rule><ID>b</ID><Prefix>logs/</Prefix><Status>Disabled</Status>${exp}</Rule>` +
          `<Rule><ID>c</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>${exp}</Rule>` +
          `<Rule><ID>d</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>x</Key><Value>1</Value></Tag>` +
          `<Tag><Key>y</Key><Value>2</Value></Tag><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter>` +
          `<Status>Enabled</Status>${exp}</Rule>`,
      ),
    );
    expect(rules.map((r) => r.filter)).toEqual([
      { form: 'filter', and: false, tags: [] },
      { form: 'legacy', and: false, prefix: 'logs/', tags: [] },
      { form: 'filter', and: false, tags: [{ key: 'k', value: 'v' }] },
      {
        form: 'filter',
        and: true,
        prefix: 'p/',
        tags: [
          { key: 'x', value: '1' },
          { key: 'y', value: '2' },
        ],
        sizeLessThan: 9,
      },
    ]);
    expect(rules[1]!.enabled).toBe(false);
  });

  it('gives a rule without ID a generated one', () => {
    const [r] = parseLifecycleConfiguration(
      doc(`<Rule><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>${exp}</Rule>`),
    );
    expect(r!.id.length).toBeGreaterThan(0);
  });

  it('refuses what S3 refuses', () => {
    const rule = (inner: string) => `<Rule><ID>r</ID><Status>Enabled</Status>${inner}</Rule>`;
    expect(code('')).toBe('MalformedXML');
    expect(code(rule(exp))).toBe('MalformedXML'); // neither Filter nor Prefix
    expect(code(rule(`<Filter/><Prefix>a</Prefix>${exp}`))).toBe('MalformedXML');
    expect(
      code(
        rule(`<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>${exp}`),
      ),
    ).toBe('MalformedXML');
    expect(
      code(
        rule(
          `<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter>${exp}`,
        ),
      ),
    ).toBe('InvalidRequest');
    expect(
      code(rule('<Filter/><Expiration><Days>1</Days><Date>2030-01-01</Date></Expiration>')),
    ).toBe('MalformedXML');
    expect(code(rule('<Filter/><Expiration><Days>-1</Days></Expiration>'))).toBe('InvalidArgument');
    expect(code(rule('<Filter/><Expiration><Days>soon</Days></Expiration>'))).toBe('MalformedXML');
    expect(code(rule('<Filter/><NoncurrentVersionExpiration/>'))).toBe('MalformedXML');
    expect(
      code(
        rule(
          '<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
        ),
      ),
    ).toBe('InvalidRequest');
    expect(
      code(
        rule(
          '<Filter/><NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>',
        ),
      ),
    ).toBe('NotImplemented');
    expect(
      code(
        rule(
          '<Filter/><Transition><Date>20220927</Date><StorageClass>GLACIER</StorageClass></Transition>',
        ),
      ),
    ).toBe('InvalidArgument');
    expect(
      code(
        Array.from({ length: 1001 }, (_, i) =>
          rule(`<Filter/>${exp}`).replace('>r<', `>r${i}<`),
        ).join(''),
      ),
    ).toBe('MalformedXML');
  });
});
