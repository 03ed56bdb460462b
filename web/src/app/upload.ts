import { API, ApiError, csrfHeader } from './api.js';

export interface UploadProgress {
  readonly loaded: number;
  readonly total: number;
}

/** The console route that streams one object into the store. */
export function objectUrl(bucket: string, key: string): string {
  return `${API}/s3/buckets/${encodeURIComponent(bucket)}/object?key=${encodeURIComponent(key)}`;
}

/**
 * Uploads one file with progress events (fetch cannot report upload progress; XHR can).
 * Resolves when the object is committed; rejects with the server's ApiError.
 */
export function uploadObject(
  bucket: string,
  key: string,
  file: Blob,
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', objectUrl(bucket, key));
    xhr.withCredentials = true;
    xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
    const token = csrfHeader();
    if (token) xhr.setRequestHeader('x-apiary-csrf', token);
    xhr.upload.onprogress = (e) =>
      onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress({ loaded: file.size, total: file.size });
        return resolve();
      }
      let code = `Http${xhr.status}`;
      let message = xhr.statusText || `Upload failed with status ${xhr.status}`;
      try {
        const b = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string } };
        code = b.error?.code ?? code;
        message = b.error?.message ?? message;
      } catch {
        // keep the status line
      }
      reject(new ApiError(code, message, xhr.status));
    };
    xhr.onerror = () =>
      reject(new ApiError('NetworkError', 'The upload was interrupted (network error)', 0));
    xhr.onabort = () => reject(new ApiError('Aborted', 'The upload was cancelled', 0));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}
