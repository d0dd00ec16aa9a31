"""Images where they live: registries (OCI distribution API) and the local engine.

The only part of cdcviewer that talks to the network (an import contract says so).
``reference`` parses what the user typed; ``settings`` holds the run's choices;
``transport`` speaks HTTP(S) (TLS, redirects, retries); ``credentials`` finds secrets
where docker and podman keep them; ``session`` answers auth challenges; ``client`` fetches
manifests and blobs (resuming, verifying); ``manifests`` picks the platform;
``blobcache`` keeps blobs across runs; ``engine`` exports images from the local engine;
``fetch`` turns a reference into layers through the same streams as files.
"""
