import { useCallback, useEffect, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import { API, apiJson, errorMessage } from '../../app/api.js';
import type { PageProps } from '../../app/router.js';
import { useSession } from '../../app/session.js';
import { formatTime } from '../../lib/format.js';

interface Key {
  readonly accessKeyId: string;
  readonly status: 'Active' | 'Inactive';
  readonly createdAtMs: number;
  readonly lastUsedMs?: number;
}
interface Created extends Key {
  readonly secretAccessKey: string;
}

/**
 * Access keys: the signed-in user's own (at most two); an admin picks any user. A new key's
 * secret is shown once, here.
 */
export default function AccessKeys(_props: PageProps) {
  const { user: me } = useSession();
  const isAdmin = me.roles.includes('admin');
  // '' = the signed-in user's own keys (root has none: the server asks it to pick a user).
  const [user, setUser] = useState('');
  const [picked, setPicked] = useState('');
  const [keys, setKeys] = useState<Key[]>([]);
  const [selected, setSelected] = useState<Key[]>([]);
  const [created, setCreated] = useState<Created>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const q = (u: string) => (u ? `?user=${encodeURIComponent(u)}` : '');

  const load = useCallback(async () => {
    try {
      const out = await apiJson<{ keys: Key[] }>(`${API}/access-keys${q(user)}`);
      setKeys(out.keys);
      setError(undefined);
    } catch (err) {
      setKeys([]);
      setError(errorMessage(err));
    }
  }, [user]);
  useEffect(() => {
    const t = setTimeout(() => void load(), 0);
    return () => clearTimeout(t);
  }, [load]);

  const act = async (f: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await f();
      setError(undefined);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
      setSelected([]);
      await load();
    }
  };
  const current = selected[0];
  const body = (extra: object = {}) => JSON.stringify({ user: user || undefined, ...extra });

  return (
    <SpaceBetween size="l">
      {isAdmin && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setCreated(undefined);
            setUser(picked.trim());
          }}
        >
          <FormField label="User" description="Admins manage any user's keys.">
            <SpaceBetween direction="horizontal" size="xs">
              <Input
                ariaLabel="User"
                value={picked}
                onChange={(e) => setPicked(e.detail.value)}
                placeholder="username"
              />
              <Button formAction="submit">Show keys</Button>
            </SpaceBetween>
          </FormField>
        </form>
      )}
      {error && (
        <Alert type="error" header="Access keys">
          {error}
        </Alert>
      )}
      {created && (
        <Alert type="success" header={`Access key ${created.accessKeyId} created`}>
          <SpaceBetween size="xs">
            <Box>This is the only time the secret access key is shown. Copy it now.</Box>
            <Box variant="code" data-testid="new-secret">
              {created.secretAccessKey}
            </Box>
          </SpaceBetween>
        </Alert>
      )}
      <Table
        variant="full-page"
        items={keys}
        trackBy="accessKeyId"
        selectionType="single"
        selectedItems={selected}
        onSelectionChange={(e) => setSelected(e.detail.selectedItems)}
        ariaLabels={{
          itemSelectionLabel: (_s, k) => k.accessKeyId,
          selectionGroupLabel: 'Access keys',
          allItemsSelectionLabel: () => 'all',
        }}
        header={
          <Header
            variant="h1"
            description={`Keys of ${user || me.username} (at most two)`}
            counter={`(${keys.length})`}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button
                  disabled={!current || busy}
                  onClick={() =>
                    void act(() =>
                      apiJson(`${API}/access-keys/${current!.accessKeyId}`, {
                        method: 'POST',
                        body: body({
                          status: current!.status === 'Active' ? 'Inactive' : 'Active',
                        }),
                      }),
                    )
                  }
                >
                  {current?.status === 'Inactive' ? 'Activate' : 'Deactivate'}
                </Button>
                <Button
                  disabled={!current || busy}
                  onClick={() =>
                    void act(() =>
                      apiJson(`${API}/access-keys/${current!.accessKeyId}${q(user)}`, {
                        method: 'DELETE',
                      }),
                    )
                  }
                >
                  Delete
                </Button>
                <Button
                  variant="primary"
                  disabled={busy || keys.length >= 2}
                  onClick={() =>
                    void act(async () =>
                      setCreated(
                        await apiJson<Created>(`${API}/access-keys`, {
                          method: 'POST',
                          body: body(),
                        }),
                      ),
                    )
                  }
                >
                  Create access key
                </Button>
              </SpaceBetween>
            }
          >
            Access keys
          </Header>
        }
        columnDefinitions={[
          { id: 'id', header: 'Access key ID', cell: (k) => k.accessKeyId },
          { id: 'status', header: 'Status', cell: (k) => k.status },
          { id: 'created', header: 'Created', cell: (k) => formatTime(k.createdAtMs / 1000) },
          {
            id: 'used',
            header: 'Last used',
            cell: (k) => (k.lastUsedMs === undefined ? 'Never' : formatTime(k.lastUsedMs / 1000)),
          },
        ]}
        empty={<Box textAlign="center">No access keys</Box>}
      />
    </SpaceBetween>
  );
}
