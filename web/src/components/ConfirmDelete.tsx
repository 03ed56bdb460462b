import type { ReactNode } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Modal from '@cloudscape-design/components/modal';
import SpaceBetween from '@cloudscape-design/components/space-between';

/**
 * The delete confirmation of every list and detail page: a modal that names what goes, with
 * Cancel and Delete (spinning while `busy`). The caller does the deleting in `onConfirm`.
 */
export default function ConfirmDelete(props: {
  visible: boolean;
  /** "Delete model m1?" */
  header: string;
  busy: boolean;
  onCancel: () => void;
  onConfirm: () => void;
  /** What the deletion does, e.g. "This permanently deletes m1." */
  children: ReactNode;
}) {
  return (
    <Modal
      visible={props.visible}
      onDismiss={props.onCancel}
      header={props.header}
      footer={
        <Box float="right">
          <SpaceBetween direction="horizontal" size="xs">
            <Button variant="link" onClick={props.onCancel}>
              Cancel
            </Button>
            <Button variant="primary" loading={props.busy} onClick={props.onConfirm}>
              Delete
            </Button>
          </SpaceBetween>
        </Box>
      }
    >
      {props.children}
    </Modal>
  );
}
