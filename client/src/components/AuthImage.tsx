import { useEffect, useState } from 'react';
import { api, ApiRequestError } from '../lib/api';
import { useRoom } from './RoomContext';

/** An image from the room's image route, fetched with the token header and shown as a blob URL. */
export function AuthImage({ src, alt, className, testId }: { src: string; alt: string; className?: string; testId?: string }) {
  const { session } = useRoom();
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let created: string | null = null;
    setUrl(null);
    setError(null);
    api.imageObjectUrl(src, session.token).then(
      (u) => {
        created = u;
        if (live) setUrl(u);
        else URL.revokeObjectURL(u);
      },
      (err: unknown) => live && setError(err instanceof ApiRequestError ? err.message : 'Image could not be loaded.'),
    );
    return () => {
      live = false;
      if (created) URL.revokeObjectURL(created);
    };
  }, [src, session.token]);
  if (error) return <div className={`img-placeholder ${className ?? ''}`} role="img" aria-label={`${alt} (not loaded: ${error})`}>Image unavailable</div>;
  if (!url) return <div className={`img-placeholder loading ${className ?? ''}`} role="img" aria-label={`${alt} (loading)`} />;
  return <img src={url} alt={alt} className={className} data-testid={testId} />;
}
