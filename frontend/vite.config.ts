import { defineConfig } from "vitest/config";

// The app is a single bundle served by Django (annotation_server/workspace): fixed file
// names, so the template can reference them with {% static %} and no manifest lookup.
export default defineConfig({
  base: "/static/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    cssCodeSplit: false,
    rollupOptions: {
      input: "src/main.ts",
      output: {
        entryFileNames: "worker/app.js",
        chunkFileNames: "worker/[name].js",
        assetFileNames: "worker/app[extname]",
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
