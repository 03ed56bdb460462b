/**
 * Ends the CLI quietly when the reader of its output goes away (`apiary logs job | head`), as Unix
 * tools do. Node ignores SIGPIPE, so without this the next write fails with EPIPE and the process
 * dies with a stack trace. Other write errors still surface.
 */
export function exitWhenOutputCloses(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
