import { type ReactNode } from 'react';
import Button from '@cloudscape-design/components/button';
import Form from '@cloudscape-design/components/form';
import Header from '@cloudscape-design/components/header';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { navigate } from '../app/router.js';

/** A create page: a real <form> (Enter submits), Cancel / Create actions, the server's error on top. */
export default function FormPage(props: {
  title: string;
  description?: ReactNode;
  submitLabel: string;
  cancelPath: string;
  busy: boolean;
  error?: string;
  onSubmit: () => void;
  children: ReactNode;
}) {
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      <Form
        header={
          <Header variant="h1" description={props.description}>
            {props.title}
          </Header>
        }
        errorText={props.error}
        errorIconAriaLabel="Error"
        actions={
          <SpaceBetween direction="horizontal" size="xs">
            <Button formAction="none" variant="link" onClick={() => navigate(props.cancelPath)}>
              Cancel
            </Button>
            <Button variant="primary" formAction="submit" loading={props.busy}>
              {props.submitLabel}
            </Button>
          </SpaceBetween>
        }
      >
        <SpaceBetween size="l">{props.children}</SpaceBetween>
      </Form>
    </form>
  );
}
