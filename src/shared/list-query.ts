/** The list parameters every SageMaker List* operation shares, in domain terms. */
export interface ListQuery {
  readonly maxResults: number;
  /** Offset into the sorted, filtered result (decoded from NextToken). */
  readonly offset: number;
  readonly sortBy: 'name' | 'creationTime' | 'status' | 'lastModifiedTime';
  readonly sortOrder: 'asc' | 'desc';
  readonly nameContains?: string;
  readonly createdAfterMs?: number;
  readonly createdBeforeMs?: number;
  readonly modifiedAfterMs?: number;
  readonly modifiedBeforeMs?: number;
  readonly statusEquals?: string;
}

export interface ListPage<T> {
  readonly items: readonly T[];
  /** Offset of the next page, or undefined on the last page. */
  readonly nextOffset: number | undefined;
}
