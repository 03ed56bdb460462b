import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import Pagination from '@cloudscape-design/components/pagination';
import Select, { type SelectProps } from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table, { type TableProps } from '@cloudscape-design/components/table';
import TextFilter from '@cloudscape-design/components/text-filter';
import { errorMessage, implementedOperations, sagemaker } from '../app/api.js';
import { useFlash } from '../app/flash.js';
import { useLive, watchKey } from '../app/live.js';
import { followHandler, href, navigate } from '../app/router.js';
import ConfirmDelete from './ConfirmDelete.js';
import { text } from '../lib/format.js';

export type Row = Record<string, unknown>;

export interface ResourceTableProps {
  /** 'model' — used in messages. */
  readonly noun: string;
  /** 'Models' — the table's title. */
  readonly title: string;
  readonly description?: ReactNode;
  readonly listOp: string;
  readonly resultKey: string;
  readonly nameKey: string;
  readonly detailPath: (name: string) => string;
  readonly createPath?: string;
  readonly createLabel?: string;
  readonly deleteOp?: string;
  readonly deleteInput?: (row: Row) => Record<string, unknown>;
  /** Columns after the name column. `sortingField` must be a SortBy value of the list operation. */
  readonly columns: readonly TableProps.ColumnDefinition<Row>[];
  /** The StatusEquals choices, when the list operation filters by status. */
  readonly statuses?: readonly string[];
  readonly extraInput?: Readonly<Record<string, unknown>>;
  readonly pageSize?: number;
  /** Whether the list follows live updates (resources that change state by themselves). */
  readonly live?: boolean;
  readonly nameSortable?: boolean;
}

/**
 * A SageMaker List* operation as a Cloudscape table: server-side paging with NextToken (only one
 * page is ever in the browser, so 10,000 jobs stay responsive), NameContains filter, StatusEquals,
 * sorting by the operation's SortBy, delete with confirmation, live updates of the visible page.
 */
export default function ResourceTable(props: ResourceTableProps) {
  const flash = useFlash();
  const pageSize = props.pageSize ?? 20;
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState(0);
  const [filterText, setFilterText] = useState('');
  const [nameContains, setNameContains] = useState('');
  const [status, setStatus] = useState<SelectProps.Option | null>(null);
  const [sorting, setSorting] = useState<{ field: string; descending: boolean }>({
    field: 'CreationTime',
    descending: true,
  });
  const [items, setItems] = useState<Row[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState<Row[]>([]);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [reload, setReload] = useState(0);
  const [canDelete, setCanDelete] = useState(false);

  useEffect(() => {
    let live = true;
    if (props.deleteOp)
      void implementedOperations().then((ops) => live && setCanDelete(ops.has(props.deleteOp!)));
    return () => {
      live = false;
    };
  }, [props.deleteOp]);

  // Filters apply after typing stops; they restart paging.
  useEffect(() => {
    const t = setTimeout(() => {
      setNameContains(filterText.trim());
      setTokens([undefined]);
      setPage(0);
    }, 300);
    return () => clearTimeout(t);
  }, [filterText]);

  const input = useMemo(() => {
    const i: Record<string, unknown> = {
      ...props.extraInput,
      MaxResults: pageSize,
      SortBy: sorting.field,
      SortOrder: sorting.descending ? 'Descending' : 'Ascending',
    };
    if (nameContains) i.NameContains = nameContains;
    if (status?.value) i.StatusEquals = status.value;
    const token = tokens[page];
    if (token) i.NextToken = token;
    return i;
  }, [props.extraInput, pageSize, sorting, nameContains, status, tokens, page]);

  const apply = useCallback(
    (out: Row) => {
      setItems((out[props.resultKey] as Row[] | undefined) ?? []);
      const next = out.NextToken as string | undefined;
      setTokens((ts) => {
        const copy = ts.slice(0, page + 1);
        if (next) copy[page + 1] = next;
        return copy;
      });
    },
    [props.resultKey, page],
  );

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    sagemaker<Row>(props.listOp, input)
      .then((out) => {
        if (cancelled) return;
        setError(undefined);
        apply(out);
      })
      .catch((err) => !cancelled && setError(errorMessage(err)))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [props.listOp, input, apply, reload]);

  const watches = useMemo(
    () => (props.live ? [{ op: props.listOp, input }] : undefined),
    [props.live, props.listOp, input],
  );
  const live = useLive<Row>(watches);
  const liveValue = watches ? live.get(watchKey(watches[0]!)) : undefined;
  useEffect(() => {
    if (liveValue?.output) apply(liveValue.output);
  }, [liveValue, apply]);

  const name = (r: Row) => text(r[props.nameKey], '');

  const doDelete = async () => {
    if (!props.deleteOp || !props.deleteInput) return;
    setDeleting(true);
    const failed: string[] = [];
    for (const r of selected) {
      try {
        await sagemaker(props.deleteOp, props.deleteInput(r));
      } catch (err) {
        failed.push(name(r));
        flash.error(err, `Could not delete ${props.noun} ${name(r)}`);
      }
    }
    setDeleting(false);
    setConfirming(false);
    const done = selected.length - failed.length;
    if (done > 0)
      flash.success(
        done === 1
          ? `Deleted ${props.noun} ${name(selected.find((r) => !failed.includes(name(r)))!)}.`
          : `Deleted ${done} ${props.noun}s.`,
      );
    setSelected([]);
    setReload((n) => n + 1);
  };

  const columns: TableProps.ColumnDefinition<Row>[] = [
    {
      id: 'name',
      header: 'Name',
      sortingField: props.nameSortable === false ? undefined : 'Name',
      isRowHeader: true,
      cell: (r) => (
        <Link href={href(props.detailPath(name(r)))} onFollow={followHandler}>
          {name(r)}
        </Link>
      ),
    },
    ...props.columns,
  ];

  const sortingColumn = columns.find((c) => c.sortingField === sorting.field);

  return (
    <>
      <Table<Row>
        variant="full-page"
        items={items}
        loading={loading && items.length === 0}
        loadingText={`Loading ${props.title.toLowerCase()}`}
        trackBy={props.nameKey}
        columnDefinitions={columns}
        selectionType={canDelete ? 'multi' : undefined}
        selectedItems={selected}
        onSelectionChange={(e) => setSelected([...e.detail.selectedItems])}
        ariaLabels={{
          selectionGroupLabel: `${props.title} selection`,
          allItemsSelectionLabel: () => 'Select all on this page',
          itemSelectionLabel: (_s, r) => `Select ${name(r)}`,
          tableLabel: props.title,
        }}
        sortingColumn={sortingColumn}
        sortingDescending={sorting.descending}
        onSortingChange={(e) => {
          const field = e.detail.sortingColumn.sortingField;
          if (!field) return;
          setSorting({ field, descending: e.detail.isDescending ?? false });
          setTokens([undefined]);
          setPage(0);
        }}
        header={
          <Header
            variant="awsui-h1-sticky"
            counter={
              items.length > 0
                ? `(${items.length}${tokens.length > page + 1 ? '+' : ''})`
                : undefined
            }
            description={props.description}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button
                  iconName="refresh"
                  ariaLabel={`Refresh ${props.title.toLowerCase()}`}
                  onClick={() => setReload((n) => n + 1)}
                />
                {canDelete && (
                  <Button disabled={selected.length === 0} onClick={() => setConfirming(true)}>
                    Delete
                  </Button>
                )}
                {props.createPath && (
                  <Button variant="primary" href={href(props.createPath)} onFollow={followHandler}>
                    {props.createLabel ?? `Create ${props.noun}`}
                  </Button>
                )}
              </SpaceBetween>
            }
          >
            {props.title}
          </Header>
        }
        filter={
          <SpaceBetween direction="horizontal" size="xs">
            <TextFilter
              filteringText={filterText}
              filteringPlaceholder={`Find ${props.title.toLowerCase()} by name`}
              filteringAriaLabel={`Filter ${props.title.toLowerCase()} by name`}
              onChange={(e) => setFilterText(e.detail.filteringText)}
            />
            {props.statuses && (
              <Select
                selectedOption={status}
                placeholder="Any status"
                ariaLabel="Filter by status"
                options={[
                  { label: 'Any status', value: '' },
                  ...props.statuses.map((s) => ({ label: s, value: s })),
                ]}
                onChange={(e) => {
                  setStatus(e.detail.selectedOption.value ? e.detail.selectedOption : null);
                  setTokens([undefined]);
                  setPage(0);
                }}
              />
            )}
          </SpaceBetween>
        }
        pagination={
          <Pagination
            currentPageIndex={page + 1}
            pagesCount={Math.max(1, tokens.length)}
            openEnd={tokens.length > page + 1}
            onChange={(e) => setPage(e.detail.currentPageIndex - 1)}
            ariaLabels={{
              nextPageLabel: 'Next page',
              previousPageLabel: 'Previous page',
              pageLabel: (n) => `Page ${n}`,
            }}
          />
        }
        empty={
          <Box textAlign="center" color="inherit" padding="l">
            {error ? (
              <Box color="text-status-error">{error}</Box>
            ) : (
              <SpaceBetween size="s">
                <b>No {props.title.toLowerCase()}</b>
                {props.createPath && (
                  <Button onClick={() => navigate(props.createPath!)}>
                    {props.createLabel ?? `Create ${props.noun}`}
                  </Button>
                )}
              </SpaceBetween>
            )}
          </Box>
        }
      />
      <ConfirmDelete
        visible={confirming}
        header={`Delete ${selected.length === 1 ? `${props.noun} ${name(selected[0]!)}` : `${selected.length} ${props.noun}s`}?`}
        busy={deleting}
        onCancel={() => setConfirming(false)}
        onConfirm={() => void doDelete()}
      >
        This permanently deletes {selected.map(name).join(', ')}.
      </ConfirmDelete>
    </>
  );
}
