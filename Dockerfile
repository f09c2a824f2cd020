# One image for api, worker and migrate (the command picks the entry point).
# CPU build. For NVIDIA GPUs use Dockerfile.gpu, which adds the CUDA runtime onnxruntime-node needs.
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
# The application stays root-owned: the process, an unprivileged user, cannot change its own code.
# The one place it writes is the worker's model cache, an absolute directory it owns (mount a
# volume or an emptyDir there when the root filesystem is read-only). tsx keeps its compile cache
# under the temporary directory (/tmp), which must be writable too.
RUN mkdir -p /var/cache/sluice/models && chown -R node:node /var/cache/sluice
ENV MODEL_CACHE_DIR=/var/cache/sluice/models
USER node
EXPOSE 8080
# node directly, not npm: signals (SIGTERM on a rolling update) reach the process that drains.
CMD ["node", "--import", "tsx", "src/server.ts"]
