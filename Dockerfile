# The Sluice controller image (Node 24 LTS). Not built by CI here: the development machines have no
# Docker engine.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY controller/package.json controller/tsconfig.json controller/
RUN npm ci --workspace controller --include-workspace-root=false --ignore-scripts
COPY controller/src controller/src
RUN npx --yes -p typescript@5.9.3 tsc -p controller/tsconfig.json && npm prune --omit=dev --workspace controller

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/controller/package.json controller/package.json
COPY --from=build /src/controller/dist controller/dist
USER 65532:65532
ENTRYPOINT ["node", "controller/dist/cli/main.js"]
CMD ["controller"]
