// mmdc (the PNG test) runs the system's Chromium when there is one; never download a browser.
module.exports = { skipDownload: true };
