import fs from 'node:fs';
import http from 'node:http';

/** The base path JupyterLab serves under (and Apiary proxies). */
export const notebookBasePath = (name: string): string => `/_apiary/notebooks/${name}/`;

/**
 * JupyterLab's command line for an instance: a unix socket only (Apiary's proxy is the one way
 * in), a token, the instance's base path and volume, no update checks or news.
 */
export function jupyterLabArgs(o: {
  readonly python: string;
  readonly name: string;
  readonly socket: string;
  readonly volume: string;
  readonly token: string;
}): string[] {
  return [
    o.python,
    '-m',
    'jupyterlab',
    '--no-browser',
    `--ServerApp.sock=${o.socket}`,
    '--ServerApp.sock_mode=0600',
    `--ServerApp.base_url=${notebookBasePath(o.name)}`,
    `--ServerApp.root_dir=${o.volume}`,
    `--IdentityProvider.token=${o.token}`,
    '--ServerApp.allow_remote_access=True',
    // Apiary may run as root (a container); the sandbox drops every capability either way.
    '--allow-root',
    '--MappingKernelManager.default_kernel_name=conda_python3',
    '--LabApp.news_url=',
    '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
  ];
}

/**
 * Polls JupyterLab's `api/status` on its socket until it answers 200 (true), or until the
 * deadline passes or `stillWaiting` says to give up (false).
 */
export async function waitForJupyterLab(o: {
  readonly socket: string;
  readonly name: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly stillWaiting: () => boolean;
}): Promise<boolean> {
  const deadline = Date.now() + o.timeoutMs;
  while (Date.now() < deadline && o.stillWaiting()) {
    if (
      fs.existsSync(o.socket) &&
      (await statusOk(o.socket, `${notebookBasePath(o.name)}api/status`, o.token))
    )
      return true;
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

function statusOk(socketPath: string, urlPath: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { socketPath, path: urlPath, headers: { authorization: `token ${token}` }, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}
