# Comptoir app image: API, workers and one-shot jobs (migrate, temporal-config)
# all run from this image with a different command.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# tsx is a runtime dependency (listed under "dependencies"), so production
# installs are enough to run the TypeScript sources directly.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY . .

USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "api/server.ts"]
