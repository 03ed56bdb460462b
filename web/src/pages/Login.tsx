import { useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Form from '@cloudscape-design/components/form';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Alert from '@cloudscape-design/components/alert';
import { API, apiJson, errorMessage } from '../app/api.js';

/** Sign in with a console user, or the root access key id + secret access key (admin). */
export default function Login({ onSignedIn }: { onSignedIn: (body: unknown) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    if (!username || !password) {
      setError('Enter a user name and a password.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const body = await apiJson<unknown>(`${API}/login`, {
        method: 'POST',
        body: JSON.stringify({ username, password }),
      });
      onSignedIn(body);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box padding={{ top: 'xxxl', horizontal: 'l' }}>
      <div className="apiary-login">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <Form
            actions={
              <Button variant="primary" formAction="submit" loading={busy}>
                Sign in
              </Button>
            }
          >
            <Container
              header={
                <Header variant="h1" description="Self-hosted ML that speaks SageMaker">
                  Sign in to Apiary
                </Header>
              }
            >
              <SpaceBetween size="l">
                {error && (
                  <Alert type="error" header="Sign-in failed">
                    {error}
                  </Alert>
                )}
                <FormField
                  label="User name"
                  description="A console user, or the root access key ID."
                >
                  <Input
                    value={username}
                    onChange={(e) => setUsername(e.detail.value)}
                    autoFocus
                    autoComplete="username"
                    name="username"
                  />
                </FormField>
                <FormField
                  label="Password"
                  description="The user's password, or the root secret access key."
                >
                  <Input
                    value={password}
                    onChange={(e) => setPassword(e.detail.value)}
                    type="password"
                    autoComplete="current-password"
                    name="password"
                  />
                </FormField>
              </SpaceBetween>
            </Container>
          </Form>
        </form>
      </div>
    </Box>
  );
}
