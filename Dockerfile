# The Sluice image: `sluice controller`, `sluice dispatch` and the kubectl-sluice commands, on the
# current Node LTS. BASE_IMAGE is node:24-bookworm-slim for a plain `docker build .`; without a
# registry, hack/build-images.sh passes a base it made from Debian packages and Node from npm.
ARG BASE_IMAGE=node:24-bookworm-slim

FROM ${BASE_IMAGE} AS build
# Set only where the registry sits behind a TLS-intercepting proxy (hack/build-images.sh).
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
COPY controller/package.json controller/
RUN npm ci --workspace controller --include-workspace-root=false --ignore-scripts --no-audit --no-fund \
 && rm -rf /root/.npm
COPY controller/build.ts controller/
COPY controller/src controller/src
# One bundle of what the binary reaches (controller/build.ts says why), the sink drivers in chunks.
RUN node controller/build.ts

FROM ${BASE_IMAGE}
# The runtime needs node only: no package managers.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
ENV NODE_ENV=production
# glibc's malloc serves blocks of 32 KiB and more by mmap, so they go back to the kernel when freed
# instead of staying as holes in its heap (docs/install.md, "Memory").
ENV MALLOC_MMAP_THRESHOLD_=32768
# The bundle needs no node_modules.
COPY --from=build /app/controller/dist controller/dist
USER 65532:65532
EXPOSE 8080 8082
# V8's memory mode: about half the RSS with 10,000 Jobs tracked, for more CPU while Jobs are created
# (docs/install.md, "Memory"). Node refuses this flag in NODE_OPTIONS, so it is set here.
ENTRYPOINT ["node", "--optimize-for-size", "controller/dist/sluice.js"]
CMD ["controller"]
