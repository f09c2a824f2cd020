# One image for api, worker and migrate (the command picks the entry point), with the dashboard built in.
# CPU build. For NVIDIA GPUs use Dockerfile.gpu, which adds the CUDA runtime onnxruntime-node needs.

# The dashboard (web/, a package of its own): built here with its own toolchain, of which only the
# output, web/dist, reaches the runtime image. Vite resolves `@client/*` to ../src/client (the typed
# client's browser-safe modules), so that folder comes along.
FROM node:20-bookworm-slim AS web
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
COPY src/client /build/src/client
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts
COPY migrations ./migrations
# Served by the api at / (WEB_DIST_DIR's default, web/dist beside src/).
COPY --from=web /build/web/dist ./web/dist
# The application stays root-owned: the process, an unprivileged user, cannot change its own code.
# The one place it writes is the worker's model cache, an absolute directory it owns (mount a
# volume or an emptyDir there when the root filesystem is read-only). tsx keeps its compile cache
# under the temporary directory (/tmp), which must be writable too. The user is numeric in USER and
# the same uid as Dockerfile.gpu's, so Kubernetes can check runAsNonRoot and one securityContext
# (runAsUser: 10001, deploy/k8s) fits both images.
RUN groupadd --system --gid 10001 sluice \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin sluice \
 && mkdir -p /var/cache/sluice/models && chown -R sluice:sluice /var/cache/sluice
ENV MODEL_CACHE_DIR=/var/cache/sluice/models
USER 10001:10001
EXPOSE 8080
# node directly, not npm: signals (SIGTERM on a rolling update) reach the process that drains.
CMD ["node", "--import", "tsx", "src/server.ts"]
