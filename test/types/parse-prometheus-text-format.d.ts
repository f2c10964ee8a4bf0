// The package ships no types; this is the shape its README documents.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }[];
  }[];
}
