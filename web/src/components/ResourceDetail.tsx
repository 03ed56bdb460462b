import { useState, type ReactNode } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs, {
  type KeyValuePairsProps,
} from '@cloudscape-design/components/key-value-pairs';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Spinner from '@cloudscape-design/components/spinner';
import { sagemaker } from '../app/api.js';
import { useFlash } from '../app/flash.js';
import { useLiveOne } from '../app/live.js';
import { navigate } from '../app/router.js';
import ConfirmDelete from './ConfirmDelete.js';

export type Described = Record<string, unknown>;

/**
 * A Describe* page: the resource follows live updates (the server pushes each change), with a
 * Delete action that confirms first, and the not-found error shown as SageMaker words it.
 */
export default function ResourceDetail(props: {
  noun: string;
  name: string;
  describeOp: string;
  input: Record<string, unknown>;
  listPath: string;
  deleteOp?: string;
  actions?: (d: Described) => ReactNode;
  description?: (d: Described) => ReactNode;
  children: (d: Described) => ReactNode;
}) {
  const flash = useFlash();
  const value = useLiveOne<Described>({ op: props.describeOp, input: props.input });
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);

  if (!value) {
    return (
      <Box padding="xxl" textAlign="center">
        <Spinner size="large" />{' '}
        <Box variant="span">
          Loading {props.noun} {props.name}
        </Box>
      </Box>
    );
  }
  if (value.error) {
    return (
      <SpaceBetween size="m">
        <Header variant="h1">{props.name}</Header>
        <Alert
          type="error"
          header={`Cannot show ${props.noun} ${props.name}`}
          action={<Button onClick={() => navigate(props.listPath)}>Back to the list</Button>}
        >
          {value.error.code}: {value.error.message}
        </Alert>
      </SpaceBetween>
    );
  }
  const d = value.output;
  const doDelete = async () => {
    setDeleting(true);
    try {
      await sagemaker(props.deleteOp!, props.input);
      flash.success(`Deleted ${props.noun} ${props.name}.`);
      navigate(props.listPath);
    } catch (err) {
      flash.error(err, `Could not delete ${props.noun} ${props.name}`);
    } finally {
      setDeleting(false);
      setConfirming(false);
    }
  };
  return (
    <SpaceBetween size="l">
      <Header
        variant="h1"
        description={props.description?.(d)}
        actions={
          <SpaceBetween direction="horizontal" size="xs">
            {props.actions?.(d)}
            {props.deleteOp && <Button onClick={() => setConfirming(true)}>Delete</Button>}
          </SpaceBetween>
        }
      >
        {props.name}
      </Header>
      {props.children(d)}
      <ConfirmDelete
        visible={confirming}
        header={`Delete ${props.noun} ${props.name}?`}
        busy={deleting}
        onCancel={() => setConfirming(false)}
        onConfirm={() => void doDelete()}
      >
        This permanently deletes {props.noun} {props.name}.
      </ConfirmDelete>
    </SpaceBetween>
  );
}

/** A "General settings" container of label/value pairs. */
export function Details({
  title,
  items,
  columns = 3,
}: {
  title: string;
  items: KeyValuePairsProps.Item[];
  columns?: 1 | 2 | 3 | 4;
}) {
  return (
    <Container header={<Header variant="h2">{title}</Header>}>
      <KeyValuePairs columns={columns} items={items} />
    </Container>
  );
}
