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
USER node
EXPOSE 8080
CMD ["npm", "start"]
