import { describe, expect, it } from 'vitest';
import { QueryParams, queryError, queryResult } from './query-protocol.js';
import { IAM_ERRORS } from './errors.js';
import { protocolOf } from './other-services.js';

describe('the query protocol', () => {
  it('reads lists and structures from the form body and the URL query', () => {
    const body = Buffer.from(
      'Action=SimulatePrincipalPolicy&ActionNames.member.1=s3%3AGetObject&ActionNames.member.2=x&Tags.member.1.Key=k&Tags.member.1.Value=v',
    );
    const p = QueryParams.parse('/?Version=2010-05-08', body);
    expect(p.get('Action')).toBe('SimulatePrincipalPolicy');
    expect(p.get('Version')).toBe('2010-05-08');
    expect(p.list('ActionNames')).toEqual(['s3:GetObject', 'x']);
    expect(p.structures('Tags', ['Key', 'Value'])).toEqual([{ Key: 'k', Value: 'v' }]);
    expect(p.list('ResourceArns')).toEqual([]);
  });

  it('writes results with members and escapes text; errors with Type Sender or Receiver', () => {
    const r = queryResult(
      'ListRoles',
      'ns',
      { Roles: { member: [{ RoleName: 'a<b' }] }, IsTruncated: false },
      'req1',
    );
    expect(r.body).toBe(
      '<ListRolesResponse xmlns="ns"><ListRolesResult><Roles><member><RoleName>a&lt;b</RoleName></member></Roles><IsTruncated>false</IsTruncated></ListRolesResult><ResponseMetadata><RequestId>req1</RequestId></ResponseMetadata></ListRolesResponse>',
    );
    const e = queryError(IAM_ERRORS, 'NoSuchEntity', 'gone', 'req2', 'ns');
    expect(e.status).toBe(404);
    expect(e.body).toBe(
      '<ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>gone</Message></Error><RequestId>req2</RequestId></ErrorResponse>',
    );
    expect(queryError(IAM_ERRORS, 'InternalFailure', undefined, 'r').body).toContain(
      '<Type>Receiver</Type>',
    );
  });

  it("tells a service's protocol from the request and botocore's query/rest-xml services", () => {
    expect(protocolOf('sts', {})).toBe('query');
    expect(protocolOf('route53', {})).toBe('rest-xml');
    expect(protocolOf('dynamodb', { 'x-amz-target': 'DynamoDB_20120810.ListTables' })).toBe('json');
    expect(protocolOf('monitoring', { 'content-type': 'application/x-amz-json-1.0' })).toBe('json');
    expect(protocolOf('lambda', {})).toBe('rest-json');
    expect(
      protocolOf('newservice', {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      }),
    ).toBe('query');
  });
});
