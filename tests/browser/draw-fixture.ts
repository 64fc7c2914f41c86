/** Draws a fixture digit on the playground's canvas with real mouse events, or with touch events (a finger). */
import type { BrowserContext, Page } from "playwright-core";
import fixtures from "./fixtures/digits.json";

export interface FixtureDigit {
  label: number;
  strokes: [number, number][][];
}

export const DIGITS = fixtures.digits as FixtureDigit[];

export async function drawDigit(page: Page, digit: FixtureDigit): Promise<void> {
  const canvas = page.getByTestId("draw-canvas");
  const box = await canvas.boundingBox();
  if (!box) throw new Error("the drawing canvas is not visible");
  const at = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
  for (const stroke of digit.strokes) {
    await page.mouse.move(...at(stroke[0]));
    await page.mouse.down();
    for (const p of stroke.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
    await page.mouse.up();
  }
}

/**
 * The same strokes as a finger: touch events sent through the DevTools protocol with touch emulation on,
 * which the browser turns into pointer events of pointerType "touch" (what a phone delivers).
 */
export async function drawDigitByTouch(
  context: BrowserContext,
  page: Page,
  digit: FixtureDigit,
): Promise<void> {
  const box = await page.getByTestId("draw-canvas").boundingBox();
  if (!box) throw new Error("the drawing canvas is not visible");
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: true, maxTouchPoints: 1 });
  const at = ([x, y]: [number, number]) => ({ x: box.x + x * box.width, y: box.y + y * box.height });
  for (const stroke of digit.strokes) {
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [at(stroke[0])] });
    for (let i = 0; i + 1 < stroke.length; i++) {
      for (let k = 1; k <= 8; k++) {
        const [a, b] = [stroke[i], stroke[i + 1]];
        const p: [number, number] = [a[0] + ((b[0] - a[0]) * k) / 8, a[1] + ((b[1] - a[1]) * k) / 8];
        await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [at(p)] });
      }
    }
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  }
  await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: false });
  await cdp.detach();
}
