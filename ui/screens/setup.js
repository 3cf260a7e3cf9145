// First run: being built (issue 4).
import { html } from "../lib/html.js";

export default function Setup() {
  return html`<div class="center-page"><p>No clinic yet. Start clinicbot with --demo to explore the demo clinic.</p></div>`;
}
