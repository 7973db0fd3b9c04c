// Shapes shared by the app: what Django bootstraps into the page and what the API returns.

export type Side = "left" | "right";
export type HarmTarget = Side | "prompt";

export interface HarmCategory {
  key: string;
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
  key: string;
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

export interface VideoSide {
  video_url: string;
  poster_url: string | null;
  duration_s: number | null;
}

export interface Assignment {
  id: string;
  batch: {
    name: string;
    instructions: string;
    must_watch: boolean;
    blur_videos: boolean;
    label_prompts: boolean;
  };
  expires_at: string;
  prompt: { text: string };
  /** True when this pair's prompt has no labels yet and the batch asks workers for them. */
  ask_prompt_labels?: boolean;
  left: VideoSide;
  right: VideoSide;
}

/** null = not decided yet; [] = the worker ticked "none of these". */
export type HarmAnswer = string[] | null;

export interface Answers {
  sub: Record<string, Side>;
  harms: Record<HarmTarget, HarmAnswer>;
  helpfulness: Side | null;
  harmlessness: Side | null;
}

export interface SubmitPayload {
  sub_preferences: Record<string, Side>;
  harm_labels: { left: string[]; right: string[] };
  prompt_harm_labels?: string[];
  helpfulness: Side;
  harmlessness: Side;
  timings: { stage1_ms: number; stage2_ms: number };
}
