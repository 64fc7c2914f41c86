/** Draws a fixture digit on the playground's canvas with real mouse events (down, moves, up). */
import type { Page } from "playwright-core";
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
