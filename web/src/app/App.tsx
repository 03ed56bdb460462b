import { Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import AppLayout from '@cloudscape-design/components/app-layout';
import Flashbar from '@cloudscape-design/components/flashbar';
import SideNavigation, {
  type SideNavigationProps,
} from '@cloudscape-design/components/side-navigation';
import Spinner from '@cloudscape-design/components/spinner';
import TopNavigation from '@cloudscape-design/components/top-navigation';
import Box from '@cloudscape-design/components/box';
import BreadcrumbGroup from '@cloudscape-design/components/breadcrumb-group';
import { breadcrumbsFor } from './breadcrumbs.js';
import { API, apiJson, onUnauthorized, setCsrfToken } from './api.js';
import { FlashProvider, useFlash } from './flash.js';
import { currentPath, findRoute, followHandler, href, navigate, useLocation } from './router.js';
import { routes } from './routes.js';
import { csrfFrom, SessionContext, userFrom, type Session, type User } from './session.js';
import Login from '../pages/Login.js';
import NotFound from '../pages/NotFound.js';

const NAV_ITEMS: SideNavigationProps.Item[] = [
  { type: 'link', text: 'Dashboard', href: href('/') },
  {
    type: 'section',
    text: 'Data',
    items: [{ type: 'link', text: 'Buckets', href: href('/data') }],
  },
  {
    type: 'section',
    text: 'Notebook',
    items: [{ type: 'link', text: 'Notebook instances', href: href('/notebook-instances') }],
  },
  {
    type: 'section',
    text: 'Ground Truth',
    items: [{ type: 'link', text: 'Labeling jobs', href: href('/labeling-jobs') }],
  },
  {
    type: 'section',
    text: 'Training',
    items: [
      { type: 'link', text: 'Training jobs', href: href('/training-jobs') },
      { type: 'link', text: 'Hyperparameter tuning jobs', href: href('/tuning-jobs') },
    ],
  },
  {
    type: 'section',
    text: 'Inference',
    items: [
      { type: 'link', text: 'Models', href: href('/models') },
      { type: 'link', text: 'Endpoint configurations', href: href('/endpoint-configs') },
      { type: 'link', text: 'Endpoints', href: href('/endpoints') },
    ],
  },
  { type: 'divider' },
  { type: 'link', text: 'Access keys', href: href('/access-keys') },
  { type: 'link', text: 'Labeling portal', href: href('/portal') },
];

/** The side-navigation entry that owns a path: '/training-jobs/x' → '/training-jobs'. */
function activeHref(path: string): string {
  const first = path.split('/').filter(Boolean)[0];
  return href(first ? `/${first}` : '/');
}

// Start the session check and the current page's chunk at once, in parallel, before React mounts.
let firstSession: Promise<unknown> | undefined = apiJson<unknown>(`${API}/session`);
void findRoute(routes, currentPath())
  ?.route.preload?.()
  .catch(() => undefined);

type Auth = { state: 'loading' } | { state: 'anonymous' } | { state: 'signed-in'; user: User };

function Shell() {
  const location = useLocation();
  const flash = useFlash();
  const [auth, setAuth] = useState<Auth>({ state: 'loading' });
  const [navOpen, setNavOpen] = useState(true);

  const loadMe = useCallback(async () => {
    try {
      const pending = firstSession;
      firstSession = undefined;
      const me = await (pending ?? apiJson<unknown>(`${API}/session`));
      const user = userFrom(me);
      setCsrfToken(csrfFrom(me));
      setAuth(user ? { state: 'signed-in', user } : { state: 'anonymous' });
    } catch {
      setAuth({ state: 'anonymous' });
    }
  }, []);

  useEffect(() => {
    void loadMe();
    return onUnauthorized(() => setAuth({ state: 'anonymous' }));
  }, [loadMe]);

  const session = useMemo<Session | undefined>(() => {
    if (auth.state !== 'signed-in') return undefined;
    return {
      user: auth.user,
      logout: async () => {
        try {
          await apiJson(`${API}/logout`, { method: 'POST', body: '{}' });
        } finally {
          setCsrfToken(undefined);
          setAuth({ state: 'anonymous' });
          navigate('/login', { replace: true });
        }
      },
    };
  }, [auth]);

  // A worker (or anyone on /login) is moved to the page they may see, with the URL to match.
  const signedInAdmin = auth.state === 'signed-in' && auth.user.roles.includes('admin');
  useEffect(() => {
    if (auth.state !== 'signed-in') return;
    if (location.path === '/login') navigate(signedInAdmin ? '/' : '/portal', { replace: true });
    else if (!signedInAdmin && !location.path.startsWith('/portal'))
      navigate('/portal', { replace: true });
  }, [auth.state, signedInAdmin, location.path]);

  if (auth.state === 'loading') {
    return (
      <Box padding="xxl" textAlign="center">
        <Spinner size="large" />
      </Box>
    );
  }
  if (auth.state === 'anonymous' || !session) {
    return (
      <Login
        onSignedIn={(body) => {
          const user = userFrom(body);
          setCsrfToken(csrfFrom(body));
          if (!user) return void loadMe();
          setAuth({ state: 'signed-in', user });
          if (location.path === '/login')
            navigate(user.roles.includes('admin') ? '/' : '/portal', { replace: true });
        }}
      />
    );
  }

  const isAdmin = session.user.roles.includes('admin');
  let path = location.path;
  if (path === '/login') path = isAdmin ? '/' : '/portal';
  if (!isAdmin && !path.startsWith('/portal')) path = '/portal';
  const found = findRoute(routes, path);
  const allowed =
    found && (found.route.roles ?? ['admin']).some((r) => session.user.roles.includes(r));
  const layout = found?.route.layout ?? 'console';
  const Page = found?.route.component;

  const content = (
    <Suspense
      fallback={
        <Box padding="xxl" textAlign="center">
          <Spinner size="large" />
        </Box>
      }
    >
      {Page && allowed ? (
        <Page params={found.params} query={location.query} />
      ) : (
        <NotFound path={location.path} />
      )}
    </Suspense>
  );

  return (
    <SessionContext.Provider value={session}>
      <div id="top-nav">
        <TopNavigation
          identity={{
            href: href(isAdmin ? '/' : '/portal'),
            title: 'Apiary',
            onFollow: followHandler,
          }}
          utilities={[
            {
              type: 'menu-dropdown',
              text: session.user.username,
              description: session.user.roles.join(', '),
              iconName: 'user-profile',
              items: [
                { id: 'access-keys', text: 'Access keys' },
                { id: 'signout', text: 'Sign out' },
              ],
              onItemClick: (e) => {
                if (e.detail.id === 'signout') void session.logout();
                if (e.detail.id === 'access-keys')
                  navigate(isAdmin ? '/access-keys' : '/portal/access-keys');
              },
            },
          ]}
        />
      </div>
      <AppLayout
        headerSelector="#top-nav"
        navigationHide={layout !== 'console' || !isAdmin}
        navigationOpen={navOpen}
        onNavigationChange={(e) => setNavOpen(e.detail.open)}
        navigation={
          <SideNavigation
            header={{ text: 'Apiary', href: href('/') }}
            activeHref={activeHref(path)}
            items={NAV_ITEMS}
            onFollow={followHandler}
          />
        }
        breadcrumbs={
          layout === 'console' ? (
            <BreadcrumbGroup
              items={breadcrumbsFor(path, location.query)}
              onFollow={followHandler}
              ariaLabel="Breadcrumbs"
              expandAriaLabel="Show path"
            />
          ) : undefined
        }
        notifications={<Flashbar items={[...flash.items]} stackItems={flash.items.length > 2} />}
        toolsHide
        ariaLabels={{
          navigation: 'Side navigation',
          navigationClose: 'Close navigation',
          navigationToggle: 'Open navigation',
          notifications: 'Notifications',
        }}
        content={content}
      />
    </SessionContext.Provider>
  );
}

export default function App() {
  return (
    <FlashProvider>
      <Shell />
    </FlashProvider>
  );
}
