/**
 * One chart section: a Chart.js canvas and, beside it, a table of the very numbers drawn (the
 * accessible view, and what tests read). The section's data-state says loading, ready or error.
 */
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartConfiguration,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

const COLOURS = ['#2f6fdf', '#e0793a', '#2a9d6f', '#a65fd0', '#c9a227', '#d14b6a'];

export interface Series {
  readonly label: string;
  readonly values: readonly number[];
}

export interface ChartData {
  /** bar: horizontal bars (long keys); columns: vertical bars (a few periods). */
  readonly kind: 'line' | 'bar' | 'columns';
  readonly labels: readonly string[];
  readonly series: readonly Series[];
  /** The table: one row of cells per entry, the first cell the key. */
  readonly rows: readonly (readonly (string | number)[])[];
}

const charts = new WeakMap<HTMLElement, Chart>();

const short = (label: string): string => (label.length > 28 ? `${label.slice(0, 27)}…` : label);

export const setState = (section: HTMLElement, state: 'loading' | 'ready' | 'error', message = ''): void => {
  section.dataset.state = state;
  const error = section.querySelector<HTMLElement>('.error');
  if (error !== null) {
    error.textContent = message;
    error.hidden = state !== 'error';
  }
};

export const renderChart = (section: HTMLElement, data: ChartData): void => {
  const canvas = section.querySelector('canvas');
  const body = section.querySelector('tbody');
  if (canvas === null || body === null) throw new Error(`chart section ${section.dataset.chart ?? '?'} lacks a canvas or table`);
  const config: ChartConfiguration<'line' | 'bar'> = {
    type: data.kind === 'line' ? 'line' : 'bar',
    data: {
      labels: data.labels.map(short),
      datasets: data.series.map((series, i) => ({
        label: series.label,
        data: [...series.values],
        borderColor: COLOURS[i % COLOURS.length],
        backgroundColor: COLOURS[i % COLOURS.length],
        pointRadius: data.labels.length > 60 ? 0 : 2,
        maxBarThickness: 48,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      // Sections across the whole page are flatter.
      aspectRatio: section.classList.contains('wide') ? 3.5 : 2,
      indexAxis: data.kind === 'bar' ? 'y' : 'x',
      plugins: { legend: { display: data.series.length > 1 } },
      scales: { [data.kind === 'bar' ? 'x' : 'y']: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  };
  charts.get(section)?.destroy();
  charts.set(section, new Chart(canvas, config));
  body.replaceChildren(...data.rows.map((cells) => {
    const row = document.createElement('tr');
    for (const cell of cells) {
      const td = document.createElement('td');
      td.textContent = String(cell);
      row.append(td);
    }
    return row;
  }));
  section.dataset.rows = String(data.rows.length);
  section.dataset.total = String(data.series[0]?.values.reduce((sum, n) => sum + n, 0) ?? 0);
  setState(section, 'ready');
};
