// Shapes shared by the app. What the API sends and accepts comes from the server's OpenAPI
// schema (src/generated/api-schema.d.ts, written by `make api-types`), so a serializer change
// that the app does not follow fails `tsc`; only what Django bootstraps into the page and the
// app's own state are written here.
import type { components } from "./generated/api-schema";

type Schemas = components["schemas"];

// --- The API (generated) ------------------------------------------------------------------
export type Side = Schemas["SideEnum"];
export type HarmKey = Schemas["HarmKeyEnum"];
export type ReasonKey = Schemas["ReasonEnum"];
/** POST /api/v1/assignments/next/, GET /api/v1/assignments/{id}/ */
export type Assignment = Schemas["AssignmentOut"];
export type VideoSide = Schemas["Side"];
/** A suggested answer shown beside a classification question (a machine's verdict). */
export type Hint = Schemas["Hint"];
/** POST /api/v1/assignments/{id}/submit/ */
export type SubmitPayload = Schemas["PairwiseSubmitRequest"];
/** POST /api/v1/assignments/{id}/skip/ and …/report/ */
export type GiveUpPayload = Schemas["GiveUpInputRequest"];
/** GET /api/v1/entry/status/ */
export type EntryStatus = Schemas["EntryStatus"];
/** The body of every API error. */
export type ApiErrorBody = Schemas["Error"];

// --- The page config Django bootstraps (workspace/selectors.py) --------------------------------
export type HarmTarget = Side | "prompt";

export interface HarmCategory {
  key: HarmKey;
  code: string;
  label: string;
  description: string;
}

export interface SubDimension {
  key: string;
  label: string;
  description: string;
}

export interface ReportReason {
  key: ReasonKey;
  label: string;
}

export interface BatchInfo {
  name: string;
  instructions: string;
}

/** A worker who came through a study link (Prolific, MTurk): their batch and quota. */
export interface EntryConfig {
  batch: string;
  submitted: number;
  required: number;
  complete: boolean;
  status_url: string;
  finish_url: string;
}

export interface AppConfig {
  view: "workspace" | "task";
  lang: string;
  languages: [string, string][];
  username: string;
  csrfToken: string;
  urls: { api: string; workspace: string; task: string; setlang: string; logout: string };
  messages: Record<string, string>;
  harms: HarmCategory[];
  dimensions: SubDimension[];
  reasons: ReportReason[];
  batches: BatchInfo[];
  counts: { today: number; total: number };
  /** null for workers without a study link. */
  entry: EntryConfig | null;
}

// --- The app's own state ---------------------------------------------------------------------
/** null = not decided yet; [] = the worker ticked "none of these". */
export type HarmAnswer = HarmKey[] | null;

export interface Answers {
  sub: Record<string, Side>;
  harms: Record<HarmTarget, HarmAnswer>;
  helpfulness: Side | null;
  harmlessness: Side | null;
}

// --- Classification batches (one item per task) ---------------------------------------------
/** What a classification batch asks about each item, with its taxonomy version. */
export type Question = Schemas["Question"];
export type Category = Schemas["Category"];
/** POST /api/v1/assignments/{id}/submit/ for a classification item. */
export type ItemPayload = Schemas["ClassificationSubmitRequest"];
