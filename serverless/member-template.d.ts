// Types for the osls plugin serverless/member-template.js (the tests import its constants and builder).
export const MEMBER_TEMPLATE_FILE: string;
export const HUB_SIDE_SIDS: string[];
export function memberTemplate(template: Record<string, unknown>): Record<string, unknown>;
declare const MemberTemplatePlugin: new (...args: unknown[]) => unknown;
export default MemberTemplatePlugin;
